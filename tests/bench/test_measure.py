"""The benchmark's own parts that can go stale as the pipeline changes: the steps it reads and its TextBlob check."""

from bench import measure
from pipeline import cli


def test_the_steps_the_bench_reads_are_the_pipelines():
    named = {*measure.ANALYSIS, measure.COPY, *measure.SUITE, measure.IMPORT}
    assert named <= set(cli.steps("pipeline")), named - set(cli.steps("pipeline"))


def test_sentiment_figures_compare_textblob_on_the_builds_texts(build_dir):
    found = measure.sentiment_figures(build_dir, texts=25)
    assert found["texts"] == 25
    assert found["identical"] is True
    assert found["textblob_ms_per_text"] > 0 and found["reviewlens_ms_per_text"] > 0
