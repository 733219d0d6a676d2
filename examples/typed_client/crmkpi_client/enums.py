from enum import Enum


class Comparison(str, Enum):
    PREVIOUS_PERIOD = "PREVIOUS_PERIOD"
    SAME_PERIOD_LAST_YEAR = "SAME_PERIOD_LAST_YEAR"


class Dimension(str, Enum):
    OWNER = "OWNER"
    TEAM = "TEAM"
    PIPELINE = "PIPELINE"
    STAGE = "STAGE"
    SOURCE = "SOURCE"
    COUNTRY = "COUNTRY"
    REGION = "REGION"
    INDUSTRY = "INDUSTRY"
    DEAL_TYPE = "DEAL_TYPE"
    ACTIVITY_TYPE = "ACTIVITY_TYPE"
    CONNECTION = "CONNECTION"
    WORKSPACE = "WORKSPACE"
    CUSTOM = "CUSTOM"


class ErrorCode(str, Enum):
    NOT_FOUND = "NOT_FOUND"
    INVALID = "INVALID"
    FORBIDDEN = "FORBIDDEN"
    FAILED = "FAILED"
    ADDRESS_NOT_ALLOWED = "ADDRESS_NOT_ALLOWED"


class Granularity(str, Enum):
    DAY = "DAY"
    WEEK = "WEEK"
    MONTH = "MONTH"
    QUARTER = "QUARTER"
    YEAR = "YEAR"


class KpiKind(str, Enum):
    FLOW = "FLOW"
    STOCK = "STOCK"
    COHORT = "COHORT"


class PeriodPreset(str, Enum):
    TODAY = "TODAY"
    THIS_WEEK = "THIS_WEEK"
    LAST_WEEK = "LAST_WEEK"
    THIS_MONTH = "THIS_MONTH"
    LAST_MONTH = "LAST_MONTH"
    THIS_QUARTER = "THIS_QUARTER"
    LAST_QUARTER = "LAST_QUARTER"
    THIS_YEAR = "THIS_YEAR"
    LAST_YEAR = "LAST_YEAR"
    LAST_7_DAYS = "LAST_7_DAYS"
    LAST_30_DAYS = "LAST_30_DAYS"
    LAST_90_DAYS = "LAST_90_DAYS"
    LAST_365_DAYS = "LAST_365_DAYS"


class RecordSide(str, Enum):
    NUMERATOR = "NUMERATOR"
    DENOMINATOR = "DENOMINATOR"


class RecordTimeField(str, Enum):
    CREATED = "CREATED"
    UPDATED = "UPDATED"
    CLOSED = "CLOSED"
    DONE = "DONE"
    DUE = "DUE"


class Statistic(str, Enum):
    MEAN = "MEAN"
    MEDIAN = "MEDIAN"
    P90 = "P90"


class Unit(str, Enum):
    COUNT = "COUNT"
    MONEY = "MONEY"
    RATIO = "RATIO"
    DAYS = "DAYS"
    HOURS = "HOURS"
    SCORE = "SCORE"
