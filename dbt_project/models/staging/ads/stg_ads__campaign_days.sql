{#- The latest report of each day's campaign figures over every landing folder: the query is
    the macro campaign_days_as_reported, which a daily run's models also read from their
    rebuilt dates' folders on (staged_for_run). -#}
{{ campaign_days_as_reported() }}
