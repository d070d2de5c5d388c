-- Each feature's rank correlation with one model's loss on one subset ($subset: train, validation, test, all).
with

final as (
    select
        feature,
        spearman,
        ci_low,
        ci_high,
        texts
    from feature_correlations
    where model = $model
        and subset = $subset
)

select * from final
order by abs(spearman) desc
