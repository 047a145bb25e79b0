#!/usr/bin/python3
"""An independent Modbus server for interop tests: Debian's pymodbus 3.0 serving register images.

Usage: pymodbus_server.py CONFIG.json
CONFIG: {"mode": "tcp"|"rtu", "host": "127.0.0.1", "port": 1502, "device": "/dev/pts/N", "baud": 9600,
         "parity": "N"|"E"|"O", "units": {"1": {"hr": {"start": 0, "values": [..]}, "ir": {...}}}}
Prints READY on stdout once serving (TCP) / once the serial port is configured (RTU). Addresses are PDU addresses
(zero_mode=True: no +1 shift).
"""
import asyncio
import json
import sys

from pymodbus.datastore import ModbusSequentialDataBlock, ModbusServerContext, ModbusSlaveContext
from pymodbus.server import StartAsyncSerialServer, StartAsyncTcpServer
from pymodbus.transaction import ModbusRtuFramer, ModbusSocketFramer


def block(spec):
    if not spec:
        return ModbusSequentialDataBlock(0, [0])
    return ModbusSequentialDataBlock(spec["start"], spec["values"])


async def main(cfg):
    slaves = {}
    for unit, regs in cfg["units"].items():
        slaves[int(unit)] = ModbusSlaveContext(
            di=block(None), co=block(None), hr=block(regs.get("hr")), ir=block(regs.get("ir")), zero_mode=True
        )
    context = ModbusServerContext(slaves=slaves, single=False)
    if cfg["mode"] == "tcp":
        server = await StartAsyncTcpServer(
            context=context, address=(cfg.get("host", "127.0.0.1"), cfg["port"]), framer=ModbusSocketFramer, defer_start=True
        )
        print("READY", flush=True)
        await server.serve_forever()
    else:
        server = await StartAsyncSerialServer(
            context=context,
            framer=ModbusRtuFramer,
            port=cfg["device"],
            baudrate=cfg.get("baud", 9600),
            parity=cfg.get("parity", "N"),
            bytesize=8,
            stopbits=1,
            defer_start=True,
        )
        print("READY", flush=True)
        await server.start()
        while True:
            await asyncio.sleep(3600)


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as f:
        asyncio.run(main(json.load(f)))
