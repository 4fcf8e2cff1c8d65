"""python-binance 1.x asyncio code on binance-twisted, offline: FakeBinance plays Binance.

Run it: ``python examples/aio_offline.py``. Only the import lines differ from 1.x code; on
the real Binance drop ``fake_binance`` and ``endpoints=``.
"""

import asyncio

from binance_twisted.aio import BinanceSocketManager, DepthCacheManager
from binance_twisted.aio.fake import fake_binance


async def main() -> None:
    async with fake_binance(event_interval=0.05) as fake:
        bm = BinanceSocketManager(None, endpoints=fake.endpoints)
        async with bm.trade_socket("BNBBTC") as ts:
            for _ in range(5):
                msg = await ts.recv()
                print(f"trade {msg['t']}: {msg['q']} BNB at {msg['p']} BTC")
        async with DepthCacheManager(None, "BNBBTC", bm=bm) as dcm_socket:
            depth_cache = await dcm_socket.recv()
            print("best bid", depth_cache.get_bids()[0], "best ask", depth_cache.get_asks()[0])
        await bm.close()


if __name__ == "__main__":
    asyncio.run(main())
