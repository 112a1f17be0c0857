{#- Every hit's own arrival source, grouped by the channel-grouping seed: the hits of a day that
    came with UTM or referral information, and the direct ones. A view of every date, for
    reading and testing; the daily visitor counts call `hit_sources` with the dates they
    rebuild, so their filter reaches the events. -#}

{{ hit_sources() }}
