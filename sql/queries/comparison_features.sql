-- When the data changed: how each feature of the texts moved, the largest effects first.
select
    title,
    kind,
    test,
    statistic,
    p_value,
    effect,
    effect_size,
    before,
    after
from comparison_features
order by rank
