-- One feature ($feature) in $bins equal-width bins, for one model and subset ($subset, null for all):
-- texts per bin and the model's mean loss with a 95% confidence interval (normal approximation).
-- The last bin also holds everything above the 99th percentile, so one outlier cannot squash the rest.
with

features as (
    select * from text_features
    where model = $model
        and feature = $feature
        and ($subset is null or subset = $subset)
),

span as (
    select
        min(value) as low,
        greatest(quantile_cont(value, 0.99), min(value)) as high
    from features
),

binned as (
    select
        features.*,
        coalesce(least(greatest(floor((value - low) / nullif(high - low, 0) * $bins), 0), $bins - 1), 0) as bin,
        span.low,
        span.high
    from features, span
),

final as (
    select
        bin,
        any_value(low) + bin * (any_value(high) - any_value(low)) / $bins as bin_start,
        any_value(low) + (bin + 1) * (any_value(high) - any_value(low)) / $bins as bin_end,
        count(*) as texts,
        avg(loss) as mean_loss,
        greatest(avg(loss) - 1.96 * coalesce(stddev_samp(loss), 0) / sqrt(count(*)), 0) as ci_low,
        avg(loss) + 1.96 * coalesce(stddev_samp(loss), 0) / sqrt(count(*)) as ci_high
    from binned
    group by bin
)

select * from final
order by bin
