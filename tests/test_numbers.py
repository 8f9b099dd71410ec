"""One way of writing a number (scalinglaws.numbers), used by legends, tables, verdicts and predict."""

import math

from scalinglaws.numbers import estimate, interval, num


def test_num_is_three_digits_whole_numbers_with_separators_and_short_exponents():
    assert num(0.07634) == "0.0763" and num(2048) == "2,048" and num(2048.0) == "2,048"
    assert num(1e9) == "1e9" and num(3.2e-7) == "3.2e-7" and num(8.8e13) == "8.8e13"
    assert num(None) == "–" and num(math.nan) == "–" and num(math.nan, missing="—") == "—"
    assert num(math.inf) == "inf" and num(-math.inf) == "-inf" and num(1e308 * 10) == "inf"


def test_interval_and_estimate_write_value_interval_and_paper():
    assert interval(0.081, 0.102) == "[0.081, 0.102]" and interval(0.1, math.nan) == "" and interval(None, 1) == ""
    assert estimate(0.0912, (0.081, 0.102), 0.076) == "0.0912 [0.081, 0.102] (paper 0.076)"
    assert estimate(0.0912, (math.nan, 0.1), symbol="α") == "α = 0.0912"
    assert estimate(0.5, None, 0.49) == "0.5 (paper 0.49)"
