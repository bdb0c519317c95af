"""Write examples/stocks/sentiment_proxy.csv: a market-derived stand-in for a sentiment series.

No dated news or social-media sentiment ships with lstmkit, so the stock case study fills its
sentiment slot with a PROXY computed from prices only: market breadth, the share of the four
bundled stocks (AAPL, GOOG, IBM, MSFT) that closed above their own 20-day simple moving
average, rescaled to -1..1. It is not sentiment. Each value uses closes up to its own date.

Replace the file with real data (first column dates, then one or more value columns) and the
forecast config joins it the same way: the value dated d is known from the close of day d.

    python examples/stocks/make_sentiment_proxy.py
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

import lstmkit as lk
from lstmkit.features import sma

OUTPUT = Path(__file__).with_name("sentiment_proxy.csv")


def breadth(prices: pd.DataFrame, window: int = 20) -> pd.DataFrame:
    """date, sentiment_proxy: 2 * (share of tickers above their SMA(window)) - 1."""
    average = sma(prices, "adj_close", window, by="ticker")[f"adj_close_sma_{window}"]
    above = (prices["adj_close"] > average).astype(float).where(average.notna())
    share = above.groupby(prices["ds"]).mean()  # tickers trading that day with a full window
    proxy = (2 * share - 1).dropna().round(4)
    return pd.DataFrame({"date": proxy.index.strftime("%Y-%m-%d"),
                         "sentiment_proxy": proxy.to_numpy()})


def main() -> None:
    table = breadth(lk.datasets.load("stocks"))
    table.to_csv(OUTPUT, index=False)
    print(f"wrote {len(table):,} rows ({table['date'].iloc[0]} to {table['date'].iloc[-1]}) "
          f"to {OUTPUT}")


if __name__ == "__main__":
    main()
