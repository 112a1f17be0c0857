{#- The touches' most advanced reports over every landing folder: the query is the macro
    touches_as_reported, which a daily run's models also read from their rebuilt dates'
    folders on (staged_for_run). -#}
{{ touches_as_reported() }}
