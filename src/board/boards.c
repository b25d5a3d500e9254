/* The boards Vessel has (board/board.h). A new board adds its table here. */
#include <string.h>

#include "board/board.h"
#include "board/riscv/board.h"
#include "board/x86/board.h"

const struct board_ops *const board_list[] = {&riscv_board_ops, &x86_board_ops, NULL};

const struct board_ops *board_find(const char *arch)
{
    for (int i = 0; arch && board_list[i]; i++)
        if (!strcmp(board_list[i]->arch, arch))
            return board_list[i];
    return NULL;
}
