{#- One row per SDK event, from the landing folder it first landed in (the SDK retries); the
    query is the macro events_as_arrived, which a daily run's models also read from their
    rebuilt dates' folders on (events_of_run). -#}

{{ events_as_arrived() }}
