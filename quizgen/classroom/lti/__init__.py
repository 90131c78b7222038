"""LTI 1.3: quizgen as a tool an LMS launches (login, launch, deep linking), sends grades
to (AGS) and reads rosters from (NRPS). Routes in service.lti call these functions."""
