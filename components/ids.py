"""Every component id of the app, written once and imported everywhere else.

Ids are grouped by page; a test asserts that they are unique.
"""


class Shell:
    """The frame around every page: location, session, sidebar, job banner."""

    LOCATION = "shell-location"
    SESSION = "shell-session"  # dcc.Store (session storage): the signed session id
    DATASET = "shell-dataset"  # dcc.Store (session storage): keys + version of the active dataset
    NAV_LOCK = "shell-nav-lock"  # dcc.Store (memory): True while a job runs
    NAV = "shell-nav"
    NAV_LINK = "shell-nav-link"  # dict id {"type": NAV_LINK, "page": <path>}
    PAGE = "shell-page"
    MESSAGE = "shell-message"  # outcome of the last job or upload, shown on every page
    JOB_REQUEST = "shell-job-request"  # dcc.Store: what the job runner should do next
    JOB_RESULT = "shell-job-result"  # dcc.Store: small summary of the last finished job
    JOB_RELAYED = "shell-job-relayed"  # dcc.Store: what Dash's background job returned (unread)
    JOB_BANNER = "shell-job-banner"
    JOB_STATUS = "shell-job-status"
    JOB_PROGRESS = "shell-job-progress"
    JOB_CANCEL = "shell-job-cancel"
    JOB_POLL = "shell-job-poll"  # dcc.Interval: reconciles lock and banner with the registry
    JOB_SEEN = "shell-job-seen"  # dcc.Store (session): id of the last job whose outcome was shown
    MEMORY_POLL = "shell-memory-poll"
    MEMORY_TEXT = "shell-memory-text"
    MEMORY_BAR = "shell-memory-bar"
    MEMORY_CLEANUP = "shell-memory-cleanup"
    MEMORY_NOTE = "shell-memory-note"


class Home:
    """Home page."""

    STATUS = "home-status"


class Data:
    """Data page: upload, ingest job, report, sampling, preview, columns."""

    UPLOAD_INPUT = "data-upload-input"
    UPLOAD_ZONE = "data-upload-zone"
    UPLOAD_PROGRESS = "data-upload-progress"
    UPLOAD_RESULT = "data-upload-result"  # dcc.Store written by assets/upload.js
    SAMPLE_BUTTON = "data-sample-button"  # dict id {"type": SAMPLE_BUTTON, "name": <sample>}
    SHEET_ROW = "data-sheet-row"
    SHEET_SELECT = "data-sheet-select"
    SHEET_APPLY = "data-sheet-apply"
    SUMMARY = "data-summary"
    REPORT = "data-report"
    REPORT_GRID = "data-report-grid"
    SAMPLING = "data-sampling"
    SAMPLING_TEXT = "data-sampling-text"
    SAMPLE_SIZE = "data-sample-size"
    SAMPLE_STRATIFY = "data-sample-stratify"
    SAMPLE_APPLY = "data-sample-apply"
    SAMPLE_FULL = "data-sample-full"
    PREVIEW = "data-preview"
    PREVIEW_GRID = "data-preview-grid"  # dict id {"type": PREVIEW_GRID, "key": <item key>}
    COLUMNS_GRID = "data-columns-grid"
    CONTENT = "data-content"


class Profile:
    """Profile page: overview, issues, columns, distributions, correlations, missing."""

    RUN = "profile-run"
    CONTENT = "profile-content"
    STATUS = "profile-status"
    CARDS = "profile-cards"
    SCORE = "profile-score"
    ISSUES = "profile-issues"
    COLUMNS_GRID = "profile-columns-grid"
    DIST_COLUMN = "profile-dist-column"
    DIST_GRAPH = "profile-dist-graph"
    CORR_METHOD = "profile-corr-method"
    CORR_GRAPH = "profile-corr-graph"
    CORR_PAIRS = "profile-corr-pairs"
    MISSING_GRAPH = "profile-missing-graph"
    PATTERN_GRAPH = "profile-pattern-graph"
    FULL_STATS = "profile-full-stats"
    CLEAN_OP = "profile-clean-op"
    CLEAN_COLUMNS = "profile-clean-columns"
    CLEAN_NUMBER = "profile-clean-number"
    CLEAN_CHOICE = "profile-clean-choice"
    CLEAN_VALUE = "profile-clean-value"
    CLEAN_FLAGS = "profile-clean-flags"
    CLEAN_HINT = "profile-clean-hint"
    CLEAN_ADD = "profile-clean-add"
    CLEAN_CLEAR = "profile-clean-clear"
    CLEAN_STEPS = "profile-clean-steps"  # dcc.Store (session): the steps the user picked
    CLEAN_LIST = "profile-clean-list"
    CLEAN_FULL = "profile-clean-full"
    CLEAN_PREVIEW = "profile-clean-preview"
    CLEAN_APPLY = "profile-clean-apply"
    CLEAN_UNDO = "profile-clean-undo"
    CLEAN_REPORT = "profile-clean-report"
    DOWNLOAD = "profile-download"  # dict id {"type": DOWNLOAD, "format": "csv"|"xlsx"|"parquet"}


class ML:
    """Machine Learning page: settings, training job, results table, charts, best model."""

    SETUP = "ml-setup"
    SETUP_CARD = "ml-setup-card"
    TARGET = "ml-target"
    TASK = "ml-task"
    TASK_NOTE = "ml-task-note"
    FEATURES = "ml-features"
    EXCLUDED = "ml-excluded"
    MODELS = "ml-models"
    MODELS_NOTE = "ml-models-note"
    TEST_SHARE = "ml-test-share"
    FOLDS = "ml-folds"
    METRIC = "ml-metric"
    BUDGET = "ml-budget"
    TRAIN = "ml-train"
    STATUS = "ml-status"
    RESULTS = "ml-results"
    SEEN = "ml-seen"  # dcc.Store: which stored results the page shows (re-render on change)
    RESULTS_CARD = "ml-results-card"
    SUMMARY = "ml-summary"
    TABLE = "ml-table"
    DOWNLOADS = "ml-downloads"
    METRIC_GRAPH = "ml-metric-graph"
    CV_GRAPH = "ml-cv-graph"
    TIME_GRAPH = "ml-time-graph"
    BEST = "ml-best"
    CONFUSION_GRAPH = "ml-confusion-graph"
    ROC_GRAPH = "ml-roc-graph"
    REPORT_GRID = "ml-report-grid"
    SCATTER_GRAPH = "ml-scatter-graph"
    RESIDUALS_GRAPH = "ml-residuals-graph"
    IMPORTANCE_GRAPH = "ml-importance-graph"


class Rfm:
    """Customer Value page: column mapping, RFM job, segments, clusters, CLV, downloads."""

    RUN = "rfm-run"
    STATUS = "rfm-status"
    LOAD_SAMPLE = "rfm-load-sample"
    SETTINGS = "rfm-settings"
    CUSTOMER = "rfm-customer"
    DATE = "rfm-date"
    AMOUNT = "rfm-amount"
    INVOICE = "rfm-invoice"
    QUANTITY = "rfm-quantity"
    UNIT_PRICE = "rfm-unit-price"
    RETURNS = "rfm-returns"
    AS_OF = "rfm-as-of"
    SCHEME = "rfm-scheme"
    K = "rfm-k"
    MARGIN = "rfm-margin"
    CONTENT = "rfm-content"
    CARDS = "rfm-cards"
    SUMMARY = "rfm-summary"
    SEGMENT_KIND = "rfm-segment-kind"
    SEGMENT_GRAPH = "rfm-segment-graph"
    SEGMENT_GRID = "rfm-segment-grid"
    GRID_GRAPH = "rfm-grid-graph"
    SCATTER_COLOR = "rfm-scatter-color"
    SCATTER_GRAPH = "rfm-scatter-graph"
    ELBOW_GRAPH = "rfm-elbow-graph"
    CLUSTER_GRAPH = "rfm-cluster-graph"
    CLUSTER_GRID = "rfm-cluster-grid"
    CLV_GRAPH = "rfm-clv-graph"
    CLV_GRID = "rfm-clv-grid"
    TOP_GRID = "rfm-top-grid"
    EXCLUDED = "rfm-excluded"
    EXCLUDED_GRID = "rfm-excluded-grid"
    RULES_GRID = "rfm-rules-grid"
    DOWNLOADS = "rfm-downloads"
    DOWNLOAD = "rfm-download"  # dict id {"type": DOWNLOAD, "file": <item>, "format": "csv"|"xlsx"}


class Basket:
    """Market Basket page: layout and thresholds, rules grid, charts, look-up, downloads."""

    RUN = "basket-run"
    SAMPLE = "basket-sample"
    SETTINGS = "basket-settings"
    SETTINGS_CARD = "basket-settings-card"
    DETECTED = "basket-detected"
    LAYOUT = "basket-layout"
    LONG_GROUP = "basket-long-group"
    TRANSACTION = "basket-transaction"
    ITEM = "basket-item"
    QUANTITY = "basket-quantity"
    BASKET_GROUP = "basket-basket-group"
    BASKET_COLUMNS = "basket-basket-columns"
    SEP = "basket-sep"
    ONEHOT_GROUP = "basket-onehot-group"
    ONEHOT_COLUMNS = "basket-onehot-columns"
    MIN_SUPPORT = "basket-min-support"
    SUPPORT_UNIT = "basket-support-unit"
    MIN_CONFIDENCE = "basket-min-confidence"
    MIN_LIFT = "basket-min-lift"
    MAX_LEN = "basket-max-len"
    ALGORITHM = "basket-algorithm"
    MULTI_CONSEQUENT = "basket-multi-consequent"
    STATUS = "basket-status"
    CONTENT = "basket-content"
    CARDS = "basket-cards"
    RULE_COUNT = "basket-rule-count"
    SUMMARY = "basket-summary"
    RULES_CARD = "basket-rules-card"
    FILTER_ITEM = "basket-filter-item"
    FILTER_SIDE = "basket-filter-side"
    FILTER_NOTE = "basket-filter-note"
    RULES_GRID = "basket-rules-grid"
    SCATTER = "basket-scatter"
    NETWORK = "basket-network"
    TOP_ITEMS = "basket-top-items"
    LOOKUP_CARD = "basket-lookup-card"
    LOOKUP_ITEM = "basket-lookup-item"
    LOOKUP_RESULT = "basket-lookup-result"
    LOOKUP_TEXT = "basket-lookup-text"
    DOWNLOAD = "basket-download"  # dict id {"type": DOWNLOAD, "file": "rules"|"itemsets"}


class System:
    """System page: memory per process, stored items, columns, jobs, cleanup, unlock."""

    REFRESH = "system-refresh"
    SUMMARY = "system-summary"
    PROCESSES_GRID = "system-processes-grid"
    ITEMS_GRID = "system-items-grid"
    COLUMNS_GRID = "system-columns-grid"
    JOBS_GRID = "system-jobs-grid"
    CLEANUP = "system-cleanup"
    UNLOCK = "system-unlock"
    CANCEL_JOB = "system-cancel-job"
    NOTE = "system-note"


def all_ids() -> list[str]:
    """Return every id string declared above (for the uniqueness test)."""
    found = []
    for group in (Shell, Home, Data, Profile, ML, Rfm, Basket, System):
        found += [v for k, v in vars(group).items() if k.isupper() and isinstance(v, str)]
    return found
