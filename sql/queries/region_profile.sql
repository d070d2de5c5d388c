-- What sets each region of one model's data map ($model) apart: each numeric feature's mean in the region beside its
-- mean over every text on the map, and the region's share of likely mislabelled texts.
with

data_maps as (
    select * from data_maps
    where model = $model
),

values as (
    select data_maps.region, text_features.feature, text_features.value
    from data_maps
    join text_features using (text_id, model)
),

overall as (
    select feature, avg(value) as overall, stddev_pop(value) as spread
    from values
    group by feature
),

final as (
    select
        values.region,
        features.title as feature,
        avg(values.value) as mean,
        any_value(overall.overall) as overall,
        (avg(values.value) - any_value(overall.overall)) / nullif(any_value(overall.spread), 0) as difference
    from values
    join overall using (feature)
    join features using (feature)
    group by values.region, features.title
)

select * from final
order by region, abs(difference) desc nulls last
