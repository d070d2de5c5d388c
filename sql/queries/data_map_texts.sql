-- Texts of one model's data map ($model): those picked ($text_ids: a lasso; null: all) in one region ($region: null
-- for any), least confident first, with their label quality.
with

data_maps as (
    select * from data_maps
    where model = $model
        and ($region is null or region = $region)
        and ($text_ids is null or text_id in (select unnest($text_ids)))
),

final as (
    select
        data_maps.text_id,
        texts.label,
        label_quality.likely_label,
        label_quality.label_quality,
        data_maps.confidence,
        data_maps.forgetting,
        texts.snippet
    from data_maps
    join texts using (text_id)
    join label_quality using (text_id)
)

select * from final
order by confidence, text_id
limit $limit
