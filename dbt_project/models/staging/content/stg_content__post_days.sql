{#- The latest report of each post's daily metrics over every landing folder: the query is
    the macro post_days_as_reported, which a daily run's models also read from their rebuilt
    dates' folders on (staged_for_run). -#}
{{ post_days_as_reported() }}
