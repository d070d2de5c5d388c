"""Every chart the viewer and the report draw, as functions from a query result to an Altair chart (the texts they
show as escaped HTML are in viewer/markup.py)."""

from __future__ import annotations

import altair as alt
import pandas as pd

SENTIMENT = ["negative", "positive"]


def model_scale(models: list[str]) -> alt.Scale:
    """One colour per model, in the models' order (the first two: blue and orange)."""
    return alt.Scale(domain=list(models), scheme="tableau10")


def training_curve(batches: pd.DataFrame, metric: str, models: list[str], window: int = 25) -> alt.LayerChart:
    """`metric` (loss or accuracy) of every batch, faint, under its moving average; one colour per model."""
    base = alt.Chart(batches, title=f"Training {metric} per batch").encode(
        x=alt.X("step:Q", title="batch"),
        color=alt.Color("model:N", scale=model_scale(models)),
    )
    raw = base.mark_line(opacity=0.25, strokeWidth=1).encode(y=alt.Y(f"{metric}:Q", title=metric))
    smooth = (
        base.transform_window(smooth=f"mean({metric})", frame=[-window + 1, 0], groupby=["model"])
        .mark_line(strokeWidth=2)
        .encode(
            y="smooth:Q",
            tooltip=["model", "epoch", "batch", alt.Tooltip("smooth:Q", format=".3f", title=f"{metric}, moving mean")],
        )
    )
    return raw + smooth


def confusion_matrix(counts: pd.DataFrame, model: str, labels: list[str]) -> alt.LayerChart:
    """True label by predicted label for one model, counts written in the cells."""
    base = alt.Chart(counts[counts["model"] == model], title=model).encode(
        x=alt.X("predicted_label:N", title="predicted", sort=list(labels)),
        y=alt.Y("label:N", title="true label", sort=list(labels)),
    )
    cells = base.mark_rect().encode(
        color=alt.Color("texts:Q", scale=alt.Scale(scheme="blues"), legend=None),
        tooltip=["label", "predicted_label", alt.Tooltip("texts:Q", format=",")],
    )
    text = base.mark_text(fontSize=16).encode(
        text=alt.Text("texts:Q", format=","),
        color=alt.condition(alt.datum.texts > counts["texts"].max() / 2, alt.value("white"), alt.value("black")),
    )
    # A step per class keeps each cell readable however many classes there are.
    return (cells + text).properties(
        width=alt.Step(max(40, 220 // len(labels))), height=alt.Step(max(28, 180 // len(labels)))
    )


def reliability_diagram(bins: pd.DataFrame, model: str) -> alt.LayerChart:
    """Accuracy against mean confidence in each confidence bin, before and after temperature scaling; on the
    diagonal, confidence can be trusted. Larger points hold more texts."""
    shown = bins[bins["model"] == model]
    diagonal = (
        alt.Chart(pd.DataFrame({"x": [0.0, 1.0]})).mark_line(color="#bbb", strokeDash=[4, 4]).encode(x="x:Q", y="x:Q")
    )
    base = alt.Chart(shown, title=model).encode(
        x=alt.X("confidence:Q", title="mean confidence", scale=alt.Scale(domain=[0, 1])),
        y=alt.Y("accuracy:Q", title="accuracy", scale=alt.Scale(domain=[0, 1])),
        color=alt.Color(
            "probabilities:N",
            title=None,
            scale=alt.Scale(domain=["as the model gives it", "after scaling"], range=["#d62728", "#4c78a8"]),
            legend=alt.Legend(orient="bottom"),
        ),
    )
    line = base.mark_line(strokeWidth=1.5)
    points = base.mark_circle(opacity=0.9).encode(
        size=alt.Size("texts:Q", legend=None, scale=alt.Scale(range=[15, 250])),
        tooltip=[
            "probabilities",
            alt.Tooltip("lower:Q", format=".2f", title="bin from"),
            alt.Tooltip("upper:Q", format=".2f", title="bin to"),
            alt.Tooltip("texts:Q", format=",", title="texts"),
            alt.Tooltip("confidence:Q", format=".3f"),
            alt.Tooltip("accuracy:Q", format=".3f"),
        ],
    )
    return (diagonal + line + points).properties(width=250, height=220)


TABLEAU10 = ["#4c78a8", "#f58518", "#e45756", "#72b7b2", "#54a24b", "#eeca3b", "#b279a2", "#ff9da6", "#9d755d",
             "#bab0ac"]  # fmt: skip
TABLEAU20 = ["#4c78a8", "#9ecae9", "#f58518", "#ffbf79", "#54a24b", "#88d27a", "#b79a20", "#f2cf5b", "#439894",
             "#83bcb6", "#e45756", "#ff9d98", "#79706e", "#bab0ac", "#d67195", "#fcbfd2", "#b279a2", "#d6a5c9",
             "#9e765f", "#d8b5a5"]  # fmt: skip
MAP_SIZES = {"loss": "loss", "out-of-vocabulary count": "n_oov", "confidence": "confidence"}
MAP_SAMPLE = 5000  # points of the map drawn without WebGL
SNIPPETS_UP_TO = 200_000  # texts whose start the WebGL map shows on hover; past that the browser would hold too much


def map_colors(categories: dict[str, str] | None = None) -> dict[str, str]:
    """How the maps can colour their points: option -> column. A category of the data is drawn from a `category`
    column that the page adds."""
    colors = {
        "ground truth": "label",
        "prediction": "predicted_label",
        "correct or not": "correct",
        "cluster": "cluster",
    }
    for title in (categories or {}).values():
        colors[title] = "category"
    return colors


def map_palette(values: pd.Series, column: str, labels: list[str]) -> tuple[pd.Series, list[str], list[str]]:
    """Each point's colour as a code into a palette, the palette and the legend: the classes as everywhere else
    (red and green for negative and positive), grey and red for right and wrong, a categorical scheme otherwise."""
    if column in ("label", "predicted_label"):
        legend = list(labels)
        palette = ["#e45756", "#54a24b"] if legend == SENTIMENT else (TABLEAU10 if len(legend) <= 10 else TABLEAU20)
    elif column == "correct":
        legend, palette = ["right", "wrong"], ["#bab0ac", "#d62728"]
        values = values.map({True: "right", False: "wrong"})
    else:
        legend = [str(value) for value in sorted(values.dropna().unique())]
        values, palette = values.astype("string"), TABLEAU10 if len(legend) <= 10 else TABLEAU20
    legend = legend + (["none"] if values.isna().any() else [])
    codes = values.astype("string").fillna("none").map({name: i for i, name in enumerate(legend)}).astype(int)
    return codes, [palette[i % len(palette)] for i in range(len(legend))], legend


def text_curve(curves: pd.DataFrame, label: str, models: list[str]) -> alt.Chart:
    """One text's probability of its label after every epoch, one line per model, a filled dot where it was right."""
    return (
        alt.Chart(curves, title=f"P({label}) after each epoch")
        .mark_line(point=alt.OverlayMarkDef(filled=True, size=50))
        .encode(
            x=alt.X("epoch:O", title="epoch"),
            y=alt.Y("probability:Q", title=f"P({label})", scale=alt.Scale(domain=[0, 1])),
            color=alt.Color("model:N", scale=model_scale(models), title="model"),
            tooltip=["model", "epoch", alt.Tooltip("probability:Q", format=".3f"), "correct"],
        )
        .properties(height=220)
    )


# How a data map can colour its points: option -> column of the data_map query.
DATA_MAP_COLORS = {"epochs right": "correctness", "region": "region", "likely mislabelled": "flagged",
                   "ground truth": "label"}  # fmt: skip
CORRECTNESS_BINS = ["0-20%", "20-40%", "40-60%", "60-80%", "80-100%"]


def data_map_palette(points: pd.DataFrame, column: str) -> tuple[pd.Series, list[str], list[str]]:
    """A data map's colours, as map_palette gives them: the share of epochs right in five bins from red to blue (as
    in the data-maps paper), the regions, the likely mislabelled in red, or the labels."""
    if column == "correctness":
        codes = (points["correctness"].clip(0, 1) * len(CORRECTNESS_BINS)).astype(int).clip(upper=4)
        palette = ["#d62728", "#ff7f0e", "#bcbd22", "#17becf", "#1f77b4"]
        return codes, palette, [f"right at {share} of epochs" for share in CORRECTNESS_BINS]
    if column == "flagged":
        codes = points["flagged"].astype(int)
        return codes, ["#bab0ac", "#d62728"], ["label likely right", "likely mislabelled"]
    if column == "region":
        legend, palette = ["easy to learn", "ambiguous", "hard to learn"], ["#1f77b4", "#bcbd22", "#d62728"]
        return points["region"].map({name: i for i, name in enumerate(legend)}), palette, legend
    labels = sorted(points["label"].unique())
    return map_palette(points["label"], "label", labels)


def data_map(points: pd.DataFrame, palette: list[str], legend: list[str]) -> alt.Chart:
    """A data map without WebGL (the report's): variability across, confidence up, each point (of a sample) coloured
    by its `colour` code."""
    shown = points.assign(colour=[legend[code] for code in points["colour"]])
    return (
        alt.Chart(shown)
        .mark_circle(opacity=0.6, size=14, stroke=None)
        .encode(
            x=alt.X("variability:Q", title="variability"),
            y=alt.Y("confidence:Q", title="confidence", scale=alt.Scale(domain=[0, 1])),
            color=alt.Color("colour:N", scale=alt.Scale(domain=legend, range=palette), title=None),
            tooltip=[
                alt.Tooltip("text_id:Q", title="id"),
                "label:N",
                "region:N",
                alt.Tooltip("label_quality:Q", title="label quality", format=".2f"),
            ],  # fmt: skip
        )
    )


def map_sample(points: pd.DataFrame, n: int = MAP_SAMPLE) -> pd.DataFrame:
    """A seeded random sample of the map's points: the same database draws the same sample."""
    return points.sample(n=min(n, len(points)), random_state=0).sort_values("text_id")


def population_map(points: pd.DataFrame, palette: list[str], legend: list[str], size: str) -> alt.Chart:
    """The map without WebGL, as Vega-Lite marks: every point of `points` (a sample) coloured by its `colour`
    code; a click picks one text, a drag draws a box."""
    shown = points.assign(colour=[legend[code] for code in points["colour"]])
    return (
        alt.Chart(shown)
        .mark_circle(opacity=0.6, stroke=None)
        .encode(
            x=alt.X("x:Q", axis=None),
            y=alt.Y("y:Q", axis=None),
            color=alt.Color("colour:N", scale=alt.Scale(domain=legend, range=palette), title=None),
            size=alt.Size(f"{MAP_SIZES[size]}:Q", scale=alt.Scale(range=[4, 160]), title=size),
            tooltip=[
                alt.Tooltip("text_id:Q", title="id"),
                alt.Tooltip("label:N", title="label"),
                alt.Tooltip("predicted_label:N", title="prediction"),
                alt.Tooltip("loss:Q", format=".3f"),
                alt.Tooltip("cluster:N"),
                alt.Tooltip("snippet:N", title="text"),
            ],
        )
        .add_params(
            alt.selection_point(name="picked", fields=["text_id"]),
            alt.selection_interval(name="box", encodings=["x", "y"]),
        )
        .properties(height=650)
    )


def cluster_words(words: pd.DataFrame) -> alt.Chart:
    """Each word's share of texts inside the cluster (bar) and elsewhere (tick)."""
    base = alt.Chart(words).encode(y=alt.Y("word:N", sort=None, title=None, axis=alt.Axis(labelOverlap=False)))
    inside = base.mark_bar(color="#4c78a8").encode(
        x=alt.X("share_in_cluster:Q", title="share of texts", axis=alt.Axis(format="%")),
        tooltip=[
            "word",
            alt.Tooltip("share_in_cluster:Q", format=".1%", title="in cluster"),
            alt.Tooltip("share_elsewhere:Q", format=".1%", title="elsewhere"),
            alt.Tooltip("z_score:Q", format=".1f"),
        ],
    )
    elsewhere = base.mark_tick(color="black", thickness=2).encode(x="share_elsewhere:Q")
    return (inside + elsewhere).properties(height=22 * len(words))


def ngram_bars(ngrams: pd.DataFrame, label: str) -> alt.Chart:
    """The n-grams with the largest summed push toward a class (right) and away from it (left), by size."""
    return (
        alt.Chart(ngrams)
        .mark_bar()
        .encode(
            x=alt.X("score:Q", title=f"summed score toward {label}"),
            y=alt.Y("ngram:N", sort="-x", title=None),
            color=alt.Color(
                "direction:N",
                scale=alt.Scale(domain=["away", "toward"], range=["#e45756", "#54a24b"]),
                legend=None,
            ),
            row=alt.Row("n:O", title=None, header=alt.Header(labelExpr="datum.value + '-gram'")),
            tooltip=["ngram", alt.Tooltip("score:Q", format=".4f"), "position"],
        )
        .resolve_scale(y="independent")
        .properties(width=220)
    )


def model_change(comparison: pd.DataFrame, first: str, second: str, label: str, models: list[str]) -> alt.LayerChart:
    """Each token's push under the first model and under the second, joined by a line; red where the sign flips."""
    data = comparison.assign(word=comparison["token"] + " @" + comparison["position"].astype(str))
    base = alt.Chart(data).encode(y=alt.Y("word:N", sort=None, title=None, axis=alt.Axis(labelOverlap=False)))
    rule = base.mark_rule().encode(
        x=alt.X(
            "first:Q",
            title=f"push toward {label}, relative to each model's strongest token",
            scale=alt.Scale(domain=[-1, 1]),
        ),
        x2="second:Q",
        color=alt.condition("datum.flipped", alt.value("#d62728"), alt.value("#bbbbbb")),
    )
    points = (
        base.transform_calculate(**{first: "datum.first", second: "datum.second"})
        .transform_fold([first, second], as_=["model", "relative"])
        .mark_circle(size=60, opacity=1)
        .encode(
            x="relative:Q",
            color=alt.Color("model:N", scale=model_scale(models)),
            tooltip=[
                "token",
                "position",
                alt.Tooltip("first:Q", format=".2f", title=first),
                alt.Tooltip("second:Q", format=".2f", title=second),
            ],
        )
    )
    zero = alt.Chart(pd.DataFrame({"x": [0]})).mark_rule(strokeDash=[4, 4]).encode(x="x:Q")
    return (rule + points + zero).properties(height=alt.Step(20))


def cohort_bars(cohorts: pd.DataFrame) -> alt.Chart:
    """Texts per cohort of agreement between two models: both right, the first only, the second only, neither."""
    return (
        alt.Chart(cohorts)
        .mark_bar()
        .encode(
            x=alt.X("texts:Q", title="texts"),
            y=alt.Y("cohort:N", sort=None, title=None),
            color=alt.Color(
                "cohort:N",
                scale=alt.Scale(domain=list(cohorts["cohort"]), range=["#bab0ac", "#4c78a8", "#f58518", "#d62728"]),
                legend=None,
            ),
            tooltip=[
                "cohort",
                alt.Tooltip("texts:Q", format=","),
                alt.Tooltip("mean_first_loss:Q", format=".3f", title="first model's mean loss"),
                alt.Tooltip("mean_second_loss:Q", format=".3f", title="second model's mean loss"),
            ],
        )
    )


def feature_vs_loss(bins: pd.DataFrame, feature: str) -> alt.LayerChart:
    """Texts per bin of one feature (bars), with the model's mean loss per bin and its 95% interval over it."""
    base = alt.Chart(bins).encode(x=alt.X("bin_start:Q", title=feature, bin="binned"), x2="bin_end:Q")
    counts = base.mark_bar(color="#c7d3e3").encode(
        y=alt.Y("texts:Q", title="texts"),
        tooltip=[
            alt.Tooltip("bin_start:Q", format=".3~f", title="from"),
            alt.Tooltip("bin_end:Q", format=".3~f", title="to"),
            alt.Tooltip("texts:Q", format=","),
            alt.Tooltip("mean_loss:Q", format=".3f", title="mean loss"),
        ],
    )
    middle = alt.Chart(bins).transform_calculate(middle="(datum.bin_start + datum.bin_end) / 2").encode(x="middle:Q")
    band = middle.mark_area(color="#d62728", opacity=0.2).encode(
        y=alt.Y("ci_low:Q", title="mean loss", axis=alt.Axis(titleColor="#d62728")), y2="ci_high:Q"
    )
    line = middle.mark_line(color="#d62728", point=True).encode(y="mean_loss:Q")
    return alt.layer(counts, band + line).resolve_scale(y="independent").properties(height=260)


def category_vs_loss(values: pd.DataFrame, category: str) -> alt.LayerChart:
    """Texts per value of one category (bars), with the model's mean loss there and its 95% interval."""
    base = alt.Chart(values).encode(y=alt.Y("value:N", sort=None, title=category))
    counts = base.mark_bar(color="#c7d3e3").encode(
        x=alt.X("texts:Q", title="texts"),
        tooltip=["value", alt.Tooltip("texts:Q", format=","), alt.Tooltip("mean_loss:Q", format=".3f")],
    )
    interval = base.mark_rule(color="#d62728").encode(
        x=alt.X("ci_low:Q", title="mean loss", axis=alt.Axis(titleColor="#d62728", orient="top")), x2="ci_high:Q"
    )
    mean = base.mark_point(color="#d62728", filled=True).encode(x="mean_loss:Q")
    return alt.layer(counts, interval + mean).resolve_scale(x="independent").properties(height=alt.Step(18))


def _is_number(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)


def _is_level(values: pd.Series) -> bool:
    """A column to group by: text, flags, or a whole number with few values (a star rating, a cluster)."""
    few = values.nunique() <= 30
    return few and (not _is_number(values) or pd.api.types.is_integer_dtype(values))


def chart_fields(frame: pd.DataFrame) -> dict | None:
    """The columns a console result can be drawn with, and a first guess at x, y and colour; None if none fits.

    The measure (y) is the first fractional number; x is the first column to group by, the colour the next.
    With nothing to group by, the first two numbers make a scatter plot.
    """
    if frame.empty:
        return None
    scalar = [
        name
        for name in frame.columns
        if not frame[name].map(lambda value: isinstance(value, list | dict | tuple | bytes)).any()
    ]
    numbers = [name for name in scalar if _is_number(frame[name])]
    fractions = [name for name in numbers if pd.api.types.is_float_dtype(frame[name])]
    if not numbers:
        return None
    y = fractions[0] if fractions else numbers[-1]
    levels = [name for name in scalar if name != y and _is_level(frame[name])]
    if levels:
        x, color = levels[0], next((name for name in levels[1:] if frame[name].nunique() <= 10), None)
    elif len(numbers) >= 2:
        x, y, color = numbers[0], numbers[1], None
    else:
        return None
    return {"columns": scalar, "x": x, "y": y, "color": color}


def result_chart(frame: pd.DataFrame, x: str, y: str, color: str | None) -> alt.Chart:
    """A console result as bars (groups against a number) or as points (anything else)."""

    def field(name: str, grouped: bool) -> str:
        kind = "Q" if _is_number(frame[name]) and not grouped else "O" if _is_number(frame[name]) else "N"
        return f"{name}:{kind}"

    tooltip = list(frame.columns[:8])
    if color:
        color_encoding = {"color": alt.Color(field(color, _is_level(frame[color])), title=color)}
    else:
        color_encoding = {}
    if _is_level(frame[x]) and _is_number(frame[y]):
        offset = {"xOffset": alt.XOffset(field(color, True))} if color else {}
        return (
            alt.Chart(frame)
            .mark_bar()
            .encode(x=alt.X(field(x, True), sort=None), y=field(y, False), tooltip=tooltip, **color_encoding, **offset)
        )
    if _is_number(frame[x]) and _is_level(frame[y]):
        offset = {"yOffset": alt.YOffset(field(color, True))} if color else {}
        return (
            alt.Chart(frame)
            .mark_bar()
            .encode(x=field(x, False), y=alt.Y(field(y, True), sort=None), tooltip=tooltip, **color_encoding, **offset)
        )
    return (
        alt.Chart(frame)
        .mark_circle(opacity=0.7)
        .encode(x=field(x, False), y=field(y, False), tooltip=tooltip, **color_encoding)
        .interactive()
    )


def failure_rates(summary: pd.DataFrame, models: list[str]) -> alt.LayerChart:
    """Each behavioural test's failure rate under each model, with its 95% interval."""
    shown = summary[summary["model"].notna()]
    base = alt.Chart(shown).encode(
        y=alt.Y("test:N", title=None, sort=list(dict.fromkeys(shown["test"]))),
        yOffset=alt.YOffset("model:N", sort=list(models)),
        color=alt.Color("model:N", scale=model_scale(models), legend=alt.Legend(orient="bottom")),
    )
    bars = base.mark_bar().encode(
        x=alt.X("failure_rate:Q", title="failure rate", axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
        tooltip=[
            "test",
            "model",
            alt.Tooltip("cases:Q", format=","),
            alt.Tooltip("failures:Q", format=","),
            alt.Tooltip("failure_rate:Q", format=".1%"),
            alt.Tooltip("ci_low:Q", format=".1%", title="95% from"),
            alt.Tooltip("ci_high:Q", format=".1%", title="95% to"),
        ],
    )
    interval = base.mark_rule(color="black").encode(x="ci_low:Q", x2="ci_high:Q")
    return (bars + interval).properties(height=alt.Step(12))


def differences(frame: pd.DataFrame, row: str, title: str) -> alt.LayerChart:
    """Each row's change, after - before, as a point on its 95% interval; dark where the interval rules out no
    change. Rows in the frame's order."""
    shown = frame.assign(beyond_noise=(frame["ci_low"] > 0) | (frame["ci_high"] < 0))
    base = alt.Chart(shown, title=title).encode(y=alt.Y(f"{row}:N", sort=None, title=None))
    interval = base.mark_rule(strokeWidth=2, color="#9ecae9").encode(
        x=alt.X("ci_low:Q", title="after - before (95% interval)"), x2="ci_high:Q"
    )
    point = base.mark_point(filled=True, size=70).encode(
        x="difference:Q",
        color=alt.Color(
            "beyond_noise:N",
            scale=alt.Scale(domain=[True, False], range=["#1f4e79", "#9ecae9"]),
            legend=alt.Legend(title="Beyond noise"),
        ),  # fmt: skip
        tooltip=[
            row,
            alt.Tooltip("before:Q", format=".3f"),
            alt.Tooltip("after:Q", format=".3f"),
            alt.Tooltip("difference:Q", format="+.3f"),
            alt.Tooltip("ci_low:Q", format="+.3f"),
            alt.Tooltip("ci_high:Q", format="+.3f"),
        ],  # fmt: skip
    )
    zero = alt.Chart(pd.DataFrame({"zero": [0.0]})).mark_rule(color="#888", strokeDash=[4, 4]).encode(x="zero:Q")
    return (zero + interval + point).properties(height=alt.Step(22))
