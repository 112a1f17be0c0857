{#- Fails on every group (an order in a model, say) whose weights do not sum to 1. -#}
{% test weights_sum_to_one(model, group_by, column_name='weight') %}

select
    {{ group_by | join(', ') }},
    sum({{ column_name }}) as total_weight
from {{ model }}
group by {{ group_by | join(', ') }}
having abs(sum({{ column_name }}) - 1) > 1e-9

{% endtest %}
