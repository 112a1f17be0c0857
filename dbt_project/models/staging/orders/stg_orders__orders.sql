{#- One row per order, its latest snapshot; the query is the macro orders_as_landed, with which
    a daily run also ranks the snapshots its folders bring (int_orders_classified). -#}

{{ orders_as_landed() }}
