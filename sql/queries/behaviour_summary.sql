-- Each behavioural test's failure rate under each model, with its 95% Wilson interval. A test that does not
-- apply to the label set, or that could change none of the sampled texts, has one row with no model.
with

tests as (
    select * from behaviour_tests
),

cases as (
    select * from behaviour_cases
),

results as (
    select * from behaviour_results
),

models as (
    select * from models
),

counted as (
    select
        cases.test,
        results.model,
        count(*) as cases,
        count(*) filter (where results.failed) as failures,
        count(*) filter (where results.failed) / count(*) as rate
    from results
    join cases using (case_id)
    group by all
),

wilson as (
    -- z = 1.96: centre and half-width of the interval.
    select
        *,
        (rate + 1.96 ^ 2 / (2 * cases)) / (1 + 1.96 ^ 2 / cases) as centre,
        1.96 * sqrt(rate * (1 - rate) / cases + 1.96 ^ 2 / (4 * cases ^ 2)) / (1 + 1.96 ^ 2 / cases) as half
    from counted
),

final as (
    select
        tests.test,
        tests.kind,
        wilson.model,
        wilson.cases,
        wilson.failures,
        wilson.rate as failure_rate,
        -- greatest() and least() skip nulls: a test without cases must keep none.
        case when wilson.cases > 0 then greatest(wilson.centre - wilson.half, 0) end as ci_low,
        case when wilson.cases > 0 then least(wilson.centre + wilson.half, 1) end as ci_high,
        tests.skipped,
        tests.description,
        tests.source,
        tests.applicable,
        tests.reason,
        tests.rank as test_rank,
        models.rank as model_rank
    from tests
    left join wilson using (test)
    left join models using (model)
)

select * from final
order by test_rank, model_rank
