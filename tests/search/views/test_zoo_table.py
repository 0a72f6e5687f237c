"""`search zoo`: every design with its exact count, its recipe and whether (in what order) a study
tries it."""

import io

from rich.console import Console

from search.views.spaces import zoo_table
from spaces import ZOO


def rows(budget):
    console = Console(file=io.StringIO(), width=400)
    console.print(zoo_table(budget))
    lines = console.file.getvalue().splitlines()
    return {line.split("│")[1].strip(): line for line in lines if line.startswith("│")}


def test_each_design_is_listed_with_its_count_and_whether_it_fits():
    table = rows(1_000_000)
    assert set(table) == {d.name for d in ZOO}
    assert "269,722" in table["ResNet-20"] and " 2 of 5 " in table["ResNet-20"]
    assert list(table)[:2] == ["WRN-16-2", "ResNet-20"]  # in the order a study tries them
    assert "1,727,962" in table["ResNet-110"] and "over budget" in table["ResNet-110"]
    assert "2,748,890" in table["WRN-16-4"] and "step x0.2 at 0.3/0.6/0.8" in table["WRN-16-4"]
    assert "randaugment" in table["PreAct-62"] and "mixup 0.5" in table["PreAct-62"]
    assert "< 5%" in rows(50_000_000)["ResNet-20"]
