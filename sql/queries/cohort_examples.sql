-- Examples from one cohort ($cohort: both right, <first> only, <second> only, neither) of two neural models
-- ($first, $second) on one subset ($subset): the texts where their losses differ most, or for "neither",
-- where they are highest.
with

agreement as (
    select * from model_agreement
    where first_model = $first
        and second_model = $second
        and cohort = $cohort
),

text_list as (
    select * from text_list
    where model = $first
        and subset = $subset
),

final as (
    select
        text_list.text_id,
        text_list.label,
        agreement.first_loss,
        agreement.second_loss,
        text_list.snippet
    from agreement
    join text_list using (text_id)
)

select * from final
order by
    if($cohort = 'neither', first_loss + second_loss, abs(first_loss - second_loss)) desc,
    text_id
limit $limit
