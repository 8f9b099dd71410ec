"""Every results record says which seeds it rests on (issue: intervals are not "over seeds" where there is one)."""

import json

import pandas as pd
from scalinglaws.analysis import common as an


def test_seeds_entered_names_replicates_or_a_single_seed():
    one = pd.DataFrame({"N": [1, 2, 3], "seed": [0, 0, 0]})
    assert an.seeds_entered(one) == "single seed (0)"
    some = pd.DataFrame({"N": [1, 1, 1, 2, 3], "seed": [0, 1, 2, 0, 0]})
    assert an.seeds_entered(some) == "seeds 0, 1, 2 at 1 of 3 sizes; seed 0 at the others"
    every = pd.DataFrame({"batch_size": [4, 4, 8, 8], "seed": [0, 1, 0, 1]})
    assert an.seeds_entered(every, by="batch_size") == "seeds 0, 1 at 2 of 2 batch_size values"


def test_a_record_without_seeds_gets_the_notebooks_default_and_one_with_seeds_keeps_its_own(tmp_path):
    res = an.Results("01", tmp_path, default_seeds="single seed (0)")
    res.add("a count", 3, key="a.count")
    res.add("a pooled value", 1.5, key="a.pooled", seeds="seeds 0, 1 at 2 of 2 sizes")
    saved = {r["key"]: r["seeds"] for r in json.loads(res.save().read_text())}
    assert saved == {"a.count": "single seed (0)", "a.pooled": "seeds 0, 1 at 2 of 2 sizes"}
