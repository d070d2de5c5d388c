-- The reliability diagram of every model on a subset, before and after temperature scaling: top-label when
-- $label is null, else for that class.
with

bins as (
    select * from reliability_bins
    where subset = $subset and class is not distinct from $label
),

final as (
    select
        bins.model,
        case when bins.scaled then 'after scaling' else 'as the model gives it' end as probabilities,
        bins.bin,
        bins.lower,
        bins.upper,
        bins.texts,
        bins.confidence,
        bins.accuracy,
        models.rank
    from bins
    join models using (model)
)

select * from final
order by rank, probabilities, bin
