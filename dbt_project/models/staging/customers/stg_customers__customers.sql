{#- One row per customer, its latest CRM version; the query is the macro customers_as_landed,
    with which dim_customers also ranks the versions of the customers a daily run touched. -#}

{{ customers_as_landed() }}
