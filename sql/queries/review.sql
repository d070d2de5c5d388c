-- One review ($review_id) with its text and metadata.
with

final as (
    select
        review_id,
        split,
        subset,
        label,
        rating,
        path,
        text,
        n_tokens,
        n_oov,
        truncated
    from reviews
    where review_id = $review_id
)

select * from final
