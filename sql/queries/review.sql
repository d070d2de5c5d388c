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
        -- Line breaks for reading; the raw text keeps its HTML residue.
        replace(text, '<br />', chr(10)) as display_text,
        n_tokens,
        n_oov,
        truncated
    from reviews
    where review_id = $review_id
)

select * from final
