-- Reviews of one subset ($subset) by which neural model gets them right: both, dense only, CNN only, neither.
with

cohorts as (
    select * from (values (1, 'both right'), (2, 'dense only'), (3, 'CNN only'), (4, 'neither')) as c (rank, cohort)
),

agreement as (
    select * from model_agreement
),

reviews as (
    select * from reviews
    where subset = $subset
),

counted as (
    select
        agreement.cohort,
        count(*) as reviews,
        avg(agreement.dense_loss) as mean_dense_loss,
        avg(agreement.cnn_loss) as mean_cnn_loss
    from agreement
    join reviews using (review_id)
    group by agreement.cohort
),

final as (
    select
        cohorts.cohort,
        coalesce(counted.reviews, 0) as reviews,
        counted.mean_dense_loss,
        counted.mean_cnn_loss
    from cohorts
    left join counted using (cohort)
    order by cohorts.rank
)

select * from final
