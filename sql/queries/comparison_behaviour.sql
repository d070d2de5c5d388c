-- Each behavioural test's failure rate under one pair's models ($base_model, $model), in the tests' order.
with

behaviour as (
    select * from comparison_behaviour
    where base_model = $base_model
        and model = $model
),

tests as (
    select * from behaviour_tests
),

final as (
    select
        behaviour.test,
        behaviour.cases_before,
        behaviour.failure_rate_before,
        behaviour.cases_after,
        behaviour.failure_rate_after,
        behaviour.difference,
        behaviour.ci_low,
        behaviour.ci_high,
        tests.rank
    from behaviour
    left join tests using (test)
)

select * exclude (rank) from final
order by rank nulls last, test
