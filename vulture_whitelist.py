"""What vulture (make lint, --min-confidence 60) cannot see used: names that a framework or
library calls, fields that are data, and offline-tool functions that tests drive. Each entry
was reviewed; anything else vulture reports is dead code and goes."""

# ruff: noqa: B018, F821
# Routes are registered by their decorators (vulture runs with --ignore-decorators "@router.*").

# Authlib calls these on our subclasses (controller/oidc): the adapter's payload, the grants,
# the models' mixin methods, the endpoints' settings and hooks, the server's overrides.
_.datalist
_.save_authorization_code
_.query_authorization_code
_.delete_authorization_code
_.authenticate_user
INCLUDE_NEW_REFRESH_TOKEN
_._validate_request_token
_.revoke_old_credential
DEFAULT_CODE_CHALLENGE_METHOD
SUPPORTED_CODE_CHALLENGE_METHOD
_.exists_nonce
_.resolve_client_private_key
_.get_encode_header
_.get_compatible_claims
_.generate_user_info
_.get_default_redirect_uri
_.get_allowed_scope
_.check_redirect_uri
_.check_endpoint_auth_method
_.check_response_type
_.check_grant_type
_.get_redirect_uri
_.get_nonce
_.get_auth_time
_.get_acr
_.get_amr
_.get_expires_in
_.is_expired
_.is_revoked
CLIENT_AUTH_METHODS
SUPPORTED_TOKEN_TYPES
_.query_token
_.revoke_token
_.check_permission
_.introspect_token
_.query_client
_.save_token
_.create_oauth2_request
_.handle_response

# pydantic: model configuration and response fields FastAPI serialises (controller/schemas,
# face_auth/entity, face_auth/config).
model_config
factors
has_face_template
session_expires_at
enrollment_code_expires_at
email_verification_required
sessions_ended

# Enum members and record fields read by value or by serialisation: LivenessMode("passive")
# from Settings, MTCNN's keypoints, the ONNX conversion record, a bona fide video run.
PASSIVE
mouth_left
mouth_right
opset
shot

# onnxruntime.SessionOptions and logging.Logger attributes, set for the library to read.
_.intra_op_num_threads
_.inter_op_num_threads
_.enable_cpu_mem_arena
_.handlers

# Face-mesh landmark indices, named for the reader beside the ones in use.
RIGHT_EYE_OUTER
LEFT_EYE_OUTER

# Offline tools the threshold calibration (tests/pipeline/calibrate.py) and its unit tests run.
photo_frame_embeddings
login_trials
nearest_impostor

# pydantic validators, called by the model (face_auth/config/settings.py).
_._no_credentials_in_the_clear

# ONNX Runtime's SessionOptions, read by the library (face_auth/face_pipeline/onnx_session.py).
_.graph_optimization_level

# onnxruntime.quantization calls the calibration reader (face_auth/face_pipeline/onnx_int8.py).
_.get_next

# A protobuf field of the ONNX graph, written for onnx.save (face_pipeline/onnx_conversion.py).
_.dim_param
