"""Sales processes of the simulated org: one BusinessProcess and one Opportunity RecordType
per pipeline of the dataset, and the UI API's picklist values of ``StageName`` per record type."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from connectors.salesforce.simulator.tables import Table, make_table, sfid, stamp
from core.simulation.dataset import Dataset

Add = Callable[[Table, list[dict[str, Any]]], None]


def record_type_of(pipeline_id: int) -> str:
    return sfid("RecordType", pipeline_id)


def render_processes(data: Dataset, add: Add, since: datetime) -> None:
    """The processes keep their stage names in ``_stages`` (not a field: never projected)."""
    add(
        make_table(
            "BusinessProcess", ("Id", "Name", "TableEnumOrId", "IsActive", "SystemModstamp")
        ),
        [
            {
                "Id": sfid("BusinessProcess", p.id),
                "Name": f"{p.name} Process",
                "TableEnumOrId": "Opportunity",
                "IsActive": True,
                "SystemModstamp": stamp(since),
                "_stages": [s.name for s in p.stages],
            }
            for p in data.pipelines
        ],
    )
    add(
        make_table(
            "RecordType",
            ("Id", "Name", "DeveloperName", "SobjectType", "BusinessProcessId", "IsActive"),
        ),
        [
            {
                "Id": record_type_of(p.id),
                "Name": p.name,
                "DeveloperName": p.name.replace(" ", "_"),
                "SobjectType": "Opportunity",
                "BusinessProcessId": sfid("BusinessProcess", p.id),
                "IsActive": True,
            }
            for p in data.pipelines
        ],
    )


def stage_values(tables: dict[str, Table], request: Request) -> Response:
    """``/ui-api/object-info/Opportunity/picklist-values/{recordTypeId}/StageName``."""
    params = request.path_params
    kinds = tables.get("RecordType")
    record_type = next(
        (r for r in (kinds.rows if kinds else []) if r["Id"] == params["record_type"]), None
    )
    if params["sobject"] != "Opportunity" or params["field"] != "StageName" or not record_type:
        return JSONResponse(
            [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}], 404
        )
    process = next(
        r for r in tables["BusinessProcess"].rows if r["Id"] == record_type["BusinessProcessId"]
    )
    return JSONResponse(
        {
            "controllerValues": {},
            "defaultValue": None,
            "eTag": f"sim-{record_type['Id']}",
            "url": request.url.path,
            "values": [
                {"attributes": None, "label": name, "validFor": [], "value": name}
                for name in process["_stages"]
            ],
        }
    )
