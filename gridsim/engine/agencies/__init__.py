"""The agencies: each a Mesa agent whose methods are its event handlers and whose state it owns.

    command_centre   110: takes triaged calls, asks the police fleet for units, supports, cordons
    police_fleet     patrol units: nearest idle unit, neighbours' units, queues per sub-center;
                     release by a mediating grid worker (linkage)
    hotline_centre   12345: the call statistics; hands each filed work order to the platform
    platform         the work-order lifecycle: hand-overs between the agencies below
    routing          dispatcher offices (division, sub-center, workstation) with their queues
    departments      responsible departments: day line on the work clock, duty roster
    grid_patrols     latent hazards and the patrol exposure that finds them
    grid_workforce   grid leaders, full-time and part-time workers: minor work orders,
                     verification, fixes on the spot, co-response to 110 calls

Adding an agency (volunteers, security guards) means adding a module here whose
agent registers its handlers with the scheduler (`Scheduler.register`, `register_arrivals`)
and wiring it in `gridsim.engine.model.CityModel`.
"""
