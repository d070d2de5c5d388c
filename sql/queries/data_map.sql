-- One model's data map ($model): every training and validation text it recorded, with its place (variability,
-- confidence), region, label quality and what hovering shows.
with

data_maps as (
    select * from data_maps
    where model = $model
),

final as (
    select
        data_maps.text_id,
        data_maps.variability as x,
        data_maps.confidence as y,
        data_maps.confidence,
        data_maps.variability,
        data_maps.correctness,
        data_maps.forgetting,
        data_maps.aum,
        data_maps.region,
        texts.split,
        texts.label,
        label_quality.label_quality,
        label_quality.likely_label,
        label_quality.flagged
    from data_maps
    join texts using (text_id)
    join label_quality using (text_id)
)

select * from final
order by text_id
