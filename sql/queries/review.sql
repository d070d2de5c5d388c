-- One text ($review_id) with everything the data and the pipeline say about it, its extra columns included.
with

final as (
    select
        *,
        -- Line breaks for reading; the raw text keeps its HTML residue.
        replace(text, '<br />', chr(10)) as display_text
    from reviews
    where review_id = $review_id
)

select * from final
