-- Each region of one model's data map ($model): its texts, how many of them the model got right at the last epoch,
-- and how many are likely mislabelled.
with

data_maps as (
    select * from data_maps
    where model = $model
),

final as (
    select
        data_maps.region,
        count(*) as texts,
        avg(data_maps.confidence) as confidence,
        avg(data_maps.variability) as variability,
        count(*) filter (where label_quality.flagged) as likely_mislabelled
    from data_maps
    join label_quality using (text_id)
    group by data_maps.region
)

select * from final
order by list_position(['easy to learn', 'ambiguous', 'hard to learn'], region)
