-- For one category feature ($category): texts per value of one subset ($subset, null for all) and one model's
-- mean loss there, with a 95% confidence interval (normal approximation); the largest values first.
with

categories as (
    select * from text_categories
    where model = $model
        and category = $category
        and ($subset is null or subset = $subset)
),

final as (
    select
        value,
        count(*) as texts,
        avg(loss) as mean_loss,
        greatest(avg(loss) - 1.96 * coalesce(stddev_samp(loss), 0) / sqrt(count(*)), 0) as ci_low,
        avg(loss) + 1.96 * coalesce(stddev_samp(loss), 0) / sqrt(count(*)) as ci_high
    from categories
    group by value
)

select * from final
order by texts desc, value
