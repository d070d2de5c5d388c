-- The texts found likely mislabelled in one build and not in the other.
with

changed as (
    select * from comparison_mislabelled
),

texts as (
    select * from texts
),

final as (
    select
        changed.text_id,
        changed.status,
        texts.label,
        texts.subset,
        texts.snippet
    from changed
    join texts using (text_id)
)

select * from final
order by status, text_id
