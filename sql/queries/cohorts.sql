-- Texts of one subset ($subset) by which of two neural models ($first, $second) gets them right: both, the
-- first only, the second only, neither.
with

cohorts as (
    select * from (values (1, 'both right'), (2, $first || ' only'), (3, $second || ' only'), (4, 'neither'))
        as c (rank, cohort)
),

agreement as (
    select * from model_agreement
    where first_model = $first
        and second_model = $second
),

texts as (
    select * from texts
    where subset = $subset
),

counted as (
    select
        agreement.cohort,
        count(*) as texts,
        avg(agreement.first_loss) as mean_first_loss,
        avg(agreement.second_loss) as mean_second_loss
    from agreement
    join texts using (text_id)
    group by agreement.cohort
),

final as (
    select
        cohorts.cohort,
        coalesce(counted.texts, 0) as texts,
        counted.mean_first_loss,
        counted.mean_second_loss
    from cohorts
    left join counted using (cohort)
    order by cohorts.rank
)

select * from final
