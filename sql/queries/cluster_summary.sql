-- Every cluster of one model, with its size, accuracy, loss and mean metadata, highest loss first.
with

final as (
    select
        cluster,
        texts,
        accuracy,
        mean_loss,
        mean_oov,
        mean_oov_rate,
        mean_tokens,
        top_label,
        top_label_share,
        share_truncated
    from clusters
    where model = $model
)

select * from final
order by mean_loss desc, cluster
