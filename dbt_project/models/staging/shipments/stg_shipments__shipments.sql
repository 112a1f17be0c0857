{#- The shipments' latest versions over every landing folder: the query is the macro
    shipments_as_landed, which a daily run's models also read from their rebuilt dates' folders
    on (staged_for_run). -#}
{{ shipments_as_landed() }}
