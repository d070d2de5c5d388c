-- One text's label quality ($text_id) and, per model with training dynamics, its place on the data map.
with

label_quality as (
    select * from label_quality
    where text_id = $text_id
),

final as (
    select
        label_quality.*,
        data_maps.model,
        data_maps.region,
        data_maps.confidence,
        data_maps.variability,
        data_maps.forgetting,
        data_maps.aum
    from label_quality
    left join data_maps using (text_id)
)

select * from final
order by model
