"""The agencies: each a Mesa agent whose methods are its event handlers and whose state it owns.

    command_centre   110: takes triaged calls, asks the police fleet for units, supports, cordons
    police_fleet     patrol units: nearest idle unit, neighbours' units, queues per sub-center
    hotline_centre   12345: registers and routes work orders down to the grid
    grid_workforce   grid leaders, full-time and part-time workers: work orders, verification,
                     co-response to 110 calls, patrol reports

Adding an agency (volunteers, security guards, departments) means adding a module here whose
agent registers its handlers with the scheduler (`Scheduler.register`, `register_arrivals`)
and wiring it in `gridsim.engine.model.CityModel`.
"""
