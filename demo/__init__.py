"""``motcua demo`` (this package, outside the hub): the whole product on this machine, no hardware: a broker,
the hub, counter devices on virtual serial ports, the main system's stand-in, a kiosk's printer, and a simulated
morning at a provincial center. ``run.py`` runs it from parts: ``settings`` (the hub config and the numbers),
``clock``, ``tally``, ``traffic`` (an MQTT observer on runtime.mqtt), ``parts`` (counter devices + bridge, the
kiosk's printer, the mock main system), ``simulation`` (citizens and staff), ``summary`` (what the terminal shows).

What runs (each part the real code, only the hardware and the province are simulated):
- the MQTT broker (Mosquitto, else embedded amqtt) and the hub (queue_server.wiring.build_hub);
- counters 1–3: a staff keypad, an LED counter display and a rating pad each, the reference firmware on CPython
  behind socat pty pairs (firmware_bridge.sim.virtual_device), and the serial bridge (firmware_bridge.Bridge);
  staff drive those counters by pressing keypad keys, citizens press a rating key when the pad lights up (and now
  and then try a second time, which the hub refuses);
- the other counters are driven over the HTTP API, as the staff console does;
- the mock main system (queue_server.mock_main_system): the hub's outbox delivers every event to it, signed; the
  kiosk look-up pulls a dossier from it on a miss; it pushes a few status changes to the hub;
- kiosk "kiosk-1" prints every ticket on the simulated ESC/POS printer (devices.printer ``sim://printer``), with
  its health on MQTT (a paper-out now and then becomes a device alert on the hub); a few tickets are saved as PNG.

Time: the hub runs on an accelerated clock that starts at 07:30 today, so the whole morning session
(07:30–11:30, 4 hours) passes in ``--duration`` seconds (60 s → 240× speed); without a duration it runs at
240× until Ctrl-C. Everything lives in a work folder (a new temporary one, or ``$MOTCUA_DEMO_DIR``); at the end
only ``tickets/*.png`` and ``summary.json`` are kept there. This package starts and stops processes and threads;
it holds no business rule, and the hub (queue_server) never imports it.
"""
