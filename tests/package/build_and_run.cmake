# cmake -DSRC= -DBIN= -DARGS= -DGEN= -P build_and_run.cmake
file(REMOVE_RECURSE ${BIN})
execute_process(COMMAND ${CMAKE_COMMAND} -S ${SRC} -B ${BIN} -G ${GEN} ${ARGS}
                -DCMAKE_BUILD_TYPE=Release COMMAND_ERROR_IS_FATAL ANY)
execute_process(COMMAND ${CMAKE_COMMAND} --build ${BIN} COMMAND_ERROR_IS_FATAL ANY)
execute_process(COMMAND ${BIN}/consumer COMMAND_ERROR_IS_FATAL ANY)
