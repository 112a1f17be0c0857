{#- One row per customer, its latest CRM version; the query is the macro customers_as_landed,
    with which int_customer_profiles also ranks a daily run's versions against the kept ones. -#}

{{ customers_as_landed() }}
