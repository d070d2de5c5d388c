-- The words most over-represented in one cluster ($cluster) of one model, best first.
with

final as (
    select
        rank,
        word,
        share_in_cluster,
        share_elsewhere,
        z_score
    from cluster_words
    where model = $model
        and cluster = $cluster
)

select * from final
order by rank
