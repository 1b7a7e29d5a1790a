from face_auth.constant import (
    NEXT_APPLICATION,
    NEXT_ENROLL_FACE,
    NEXT_ENROLLMENT_CODE,
    NEXT_LOGIN,
    NEXT_REAUTHENTICATE,
    NEXT_VERIFY_FACE,
)

PAGE_FOR_STEP = {
    NEXT_ENROLL_FACE: "/application/face/enroll",
    NEXT_VERIFY_FACE: "/application/face/verify",
    NEXT_ENROLLMENT_CODE: "/application/face/recover",
    NEXT_APPLICATION: "/application/",
    NEXT_LOGIN: "/auth/login",
    NEXT_REAUTHENTICATE: "/auth/reauthenticate",
}
