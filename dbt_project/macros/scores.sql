{#- A double rounded half up to `scale` decimals (at most 6), the same bits on every engine.
    round(double) is not: DuckDB rounds the double scaled by 10^scale, Spark its exact binary
    value, so a value whose exact decimal form ends in 5 just past `scale` (a weighted mean of
    scores with few decimals often does) rounds up on one engine and down on the other. Cast
    to a decimal first (both engines round the double to 12 decimals the same way), round
    that exactly, and read it back from a 64-bit decimal (exact, then one correctly rounded
    division). For values below 10^6 in magnitude: scores, rates, shares. -#}
{% macro round_exact(value, scale=6) -%}
    cast(round(cast({{ value }} as decimal(18, 12)), {{ scale }}) as double)
{%- endmacro %}
