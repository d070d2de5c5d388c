-- The training and validation texts flagged as likely mislabelled, lowest label quality first.
with

label_quality as (
    select * from label_quality
    where flagged and evidence = 'training'
),

final as (
    select
        label_quality.text_id,
        texts.label,
        label_quality.likely_label,
        label_quality.label_quality,
        texts.split,
        texts.snippet
    from label_quality
    join texts using (text_id)
)

select * from final
order by label_quality, text_id
limit $limit
