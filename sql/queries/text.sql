-- One text ($text_id) with everything the data and the pipeline say about it, its extra columns included.
with

final as (
    select
        *,
        -- Line breaks for reading; the raw text keeps its HTML residue.
        replace(text, '<br />', chr(10)) as display_text
    from texts
    where text_id = $text_id
)

select * from final
