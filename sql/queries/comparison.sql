-- What this build was compared with (a base file, or its own models), how its texts matched, and each pair's flips.
with

comparison as (
    select * from comparison
),

pairs as (
    select * from comparison_pairs
),

final as (
    select
        comparison.*,
        pairs.base_model,
        pairs.model,
        pairs.rank,
        pairs.paired_by,
        pairs.texts,
        pairs.broken,
        pairs.fixed,
        pairs.negative_flip_rate,
        pairs.nfr_low,
        pairs.nfr_high,
        pairs.positive_flip_rate,
        pairs.pfr_low,
        pairs.pfr_high,
        pairs.mcnemar_p
    from comparison
    left join pairs on true
)

select * from final
order by rank
